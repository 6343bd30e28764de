"""Knowledge digests: subscriptions, the batched run, rendering (manifest.py lists the parts)."""
