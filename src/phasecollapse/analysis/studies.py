"""The studies of ``phasecollapse analyze``: one registry, read by the command line, the docs and
the tests. Each study is the function of the same name in :mod:`.report`, which writes
``NAME.json`` and ``NAME.png``; :func:`.report.run_study` calls it from these entries.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Study:
    """One study: what it measures, the checkpoints it takes, its defaults.

    ``checkpoints`` = (fewest, most) trained checkpoints (most None: any number); ``network`` the
    kind they must be; ``samples`` the default number of images per split; ``data``: it takes
    ``--data textures|cifar10`` (images of its own, not those of a checkpoint's config);
    ``probe``: it fits linear probes (``--no-probe`` skips them).
    """

    name: str
    measures: str
    checkpoints: tuple[int, int | None]
    network: str
    samples: int
    data: bool = False
    probe: bool = False

    def usage(self) -> str:
        """The command line, e.g. ``analyze skip LSCAT.pt … [--no-probe]``."""
        fewest, most = self.checkpoints
        ckpt = f"{self.network.upper()}.pt"
        args = "" if most == 0 else ckpt if (fewest, most) == (1, 1) else f"[{ckpt}]" if most == 1 else f"{ckpt} …" if fewest else f"[{ckpt} …]"
        options = (" [--data textures|cifar10]" if self.data else "") + (" [--no-probe]" if self.probe else "")
        return f"phasecollapse analyze {self.name} {args}".rstrip() + f"{options} [--samples N]"

    def check(self, checkpoints: list[str]) -> None:
        """Raise ValueError unless the number of checkpoints is one this study takes."""
        fewest, most = self.checkpoints
        if len(checkpoints) < fewest or (most is not None and len(checkpoints) > most):
            wanted = "no checkpoint" if most == 0 else f"exactly {fewest} {self.network} checkpoint" if fewest == most else f"at most {most} {self.network} checkpoint" if not fewest else f"at least {fewest} {self.network} checkpoint(s)"
            raise ValueError(f"analyze {self.name} takes {wanted}, got {len(checkpoints)}")


STUDIES: dict[str, Study] = {
    s.name: s
    for s in (
        Study("translation", "translation as a phase shift of x∗ψ, against the exact per-image bound σ_x|τ|, by formula and through W", (0, 0), "", 256, data=True),
        Study("symmetry", "class means per position against a permutation floor, pseudo-variance, phase–modulus dependence", (0, None), "LScat", 1000, data=True),
        Study("separation", "Fisher ratio, nearest-class-mean and linear-probe error per block", (1, None), "LScat", 1024, probe=True),
        Study("variability", "translation variability of each stage per block", (1, None), "LScat", 256),
        Study("skip", "class separation of each part of U per block: Wx against ρ(Wx), or x∗φ against ρ(x∗ψ)", (1, None), "LScat", 1000, probe=True),
        Study("relu", "the separation carried by the even and the odd part of each ReLU", (0, 1), "ResNet", 1000),
        Study("operators", "singular values, effective rank and orientation sharing of each P_j", (1, 1), "LScat", 256),
    )
}
