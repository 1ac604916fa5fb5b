"""Data: CIFAR-10 and textures in memory (batched tensor augmentation), ImageNet folders."""

#: Image side and class count of each data set (textures: the class count is a config key).
DATASETS: dict[str, tuple[int, int | None]] = {"cifar10": (32, 10), "imagenet": (224, 1000), "textures": (32, None)}
