"""Data: CIFAR-10 in memory with batched tensor augmentation, ImageNet folders, textures."""
