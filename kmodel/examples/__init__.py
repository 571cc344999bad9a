"""Small, well-known models that pin the kernel's behaviour to published state counts."""
