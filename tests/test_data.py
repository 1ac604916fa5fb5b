import torch

from phasecollapse.data import cifar10, textures
from phasecollapse.data.loader import TensorLoader
from phasecollapse.data.transforms import normalize, random_crop_flip


def test_random_crop_flip_is_a_crop_of_the_padded_image() -> None:
    images = torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8)
    out = random_crop_flip(images, torch.Generator().manual_seed(0))
    padded = torch.nn.functional.pad(images, (4,) * 4)
    flips, offsets = 0, set()
    for b in range(64):
        candidates = [(dy, dx, f) for dy in range(9) for dx in range(9) for f in (False, True) if torch.equal(out[b], (lambda c: c.flip(-1) if f else c)(padded[b, :, dy : dy + 32, dx : dx + 32]))]
        assert candidates, f"image {b} is not a (flipped) crop"
        flips += candidates[0][2]
        offsets.add(candidates[0][:2])
    assert out.dtype == torch.uint8
    assert 16 <= flips <= 48, flips  # a fair coin per image: 64 × ½ ± 4σ
    assert len(offsets) > 20, offsets  # 81 offsets drawn uniformly, not one fixed crop


def test_normalize_uses_imagenet_statistics() -> None:
    x = torch.full((1, 3, 2, 2), 255, dtype=torch.uint8)
    torch.testing.assert_close(normalize(x)[0, :, 0, 0], torch.tensor([(1 - 0.485) / 0.229, (1 - 0.456) / 0.224, (1 - 0.406) / 0.225]))


def test_loader_shards_are_disjoint_and_epochs_reproducible() -> None:
    x, y = torch.zeros(103, 3, 4, 4), torch.arange(103)
    seen = []
    for rank in range(2):
        loader = TensorLoader(x, y, 10, shuffle=True, augment=False, seed=3, rank=rank, world=2)
        loader.set_epoch(5)
        seen.append(torch.cat([b for _, b in loader]))
    assert len(seen[0]) == len(seen[1]) == 51 and not set(seen[0].tolist()) & set(seen[1].tolist())
    assert len(loader) == 6 and len(TensorLoader(x, y, 10, shuffle=False, augment=False, rank=1, world=2)) == 6
    again = TensorLoader(x, y, 10, shuffle=True, augment=False, seed=3, rank=0, world=2, epoch=5)
    assert torch.equal(torch.cat([b for _, b in again]), seen[0])
    again.set_epoch(6)
    assert not torch.equal(torch.cat([b for _, b in again]), seen[0])


def test_cifar10_loads_the_official_split(cifar10_dir) -> None:
    x, y = cifar10.load_split(cifar10_dir, train=False)
    assert x.shape == (10000, 3, 32, 32) and x.dtype == torch.uint8
    assert torch.bincount(y).tolist() == [1000] * 10
    assert y[:10].tolist() == [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]


def test_textures_are_deterministic_stationary_and_zero_mean() -> None:
    a, la = textures.generate(4, 8, seed=1)
    b, _ = textures.generate(4, 8, seed=1)
    assert torch.equal(a, b) and a.shape == (32, 3, 32, 32) and la.tolist() == sum([[k] * 8 for k in range(4)], [])
    torch.testing.assert_close(a.mean(dim=(-2, -1)), torch.zeros(32, 3), atol=1e-5, rtol=0)
    assert not torch.equal(a, textures.generate(4, 8, seed=2)[0])
    # The classes differ by their spectra: the energy of class k peaks at its orientation.
    x, _ = textures.generate(4, 64, seed=0)
    power = torch.fft.fft2(x).abs().square().mean(dim=1).view(4, 64, 32, 32).mean(1)
    peaks = [torch.stack(torch.unravel_index(p.argmax(), p.shape)).tolist() for p in power]
    assert len({tuple(p) for p in peaks}) == 4
