"""Every CIFAR-10 preset exports on the default path (``fast=True``): ``torch.export.export`` and
``torch.onnx.export`` (dynamo-based), with a dynamic batch, give eager's outputs."""

import pytest
import torch
from torch.export import Dim, ExportedProgram

from phasecollapse import create_model, list_models
from phasecollapse.kernels.modulus import modulus

#: Small versions of the presets that keep their code paths (block 0 on real images, complex
#: blocks with and without subsampling, the head; scattering orders 1 and 2).
PRESETS = {
    "scat_cifar10": {"J": 2, "L": 4},
    "lscat_cifar10": {"widths": [4, 8]},
    "lscat_skip_cifar10": {"widths": [4, 8]},
    "resnet20_cifar10": {},
}


def test_every_cifar10_preset_is_exported() -> None:
    assert set(PRESETS) == {name for name in list_models() if name.endswith("_cifar10")}


@pytest.fixture(scope="module", params=list(PRESETS))
def exported(request: pytest.FixtureRequest) -> tuple[torch.nn.Module, ExportedProgram]:
    torch.manual_seed(0)
    model = create_model(request.param, **PRESETS[request.param]).eval()
    return model, torch.export.export(model, (torch.randn(2, 3, 32, 32),), dynamic_shapes={"x": {0: Dim("batch")}})


def test_torch_export_matches_eager(exported: tuple[torch.nn.Module, ExportedProgram]) -> None:
    model, program = exported
    assert all(block.fast for block in getattr(model, "blocks", []))  # the default path, not fast=False
    assert not any("hypot" in str(node.target) for node in program.graph.nodes)  # ONNX has no hypot
    x = torch.randn(5, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(program.module()(x), model(x), atol=1e-5, rtol=1e-5)


def test_onnx_export_matches_eager(exported: tuple[torch.nn.Module, ExportedProgram]) -> None:
    pytest.importorskip("onnxscript")
    ort = pytest.importorskip("onnxruntime")
    model, program = exported
    onnx_program = torch.onnx.export(program, dynamo=True, verbose=False)
    session = ort.InferenceSession(onnx_program.model_proto.SerializeToString(), providers=["CPUExecutionProvider"])
    x = torch.randn(5, 3, 32, 32)
    (y,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    with torch.no_grad():
        torch.testing.assert_close(torch.from_numpy(y), model(x), atol=1e-5, rtol=1e-5)


def test_training_keeps_the_one_pass_modulus() -> None:
    x = torch.randn(2, 6, 4, 4, requires_grad=True)
    assert type(modulus(x).grad_fn).__name__ == "_ModulusBackward"
