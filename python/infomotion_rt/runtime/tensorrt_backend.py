"""The TensorRT backend: a plan built by ``build-engine`` (``.plan`` / ``.engine``) plus its JSON sidecar.

Needs TensorRT (10.x or 11.x Python API: named I/O tensors, ``execute_async_v3``) and cuda-python for device
memory -- no torch. A plan only runs on the TensorRT version and GPU architecture it was built for: the
sidecar records both and loading compares them before deserialising, so a mismatch is a one-line error
that says to rebuild. UNVERIFIED: TensorRT cannot be installed on the development machines; only the
sidecar checks, the suffix dispatch and the missing-library errors are tested.
"""

from __future__ import annotations

import json

import numpy as np

from infomotion_rt.errors import ConfigError, DataError, DependencyError
from infomotion_rt.runtime.base import MotionEncoder
from infomotion_rt.runtime.contract import import_tensorrt, read_sidecar


def cuda_runtime():
    """cuda-python's runtime module (``cuda.bindings.runtime``, or ``cuda.cudart`` in older releases)."""
    try:
        from cuda.bindings import runtime as cudart
    except ImportError:
        try:
            from cuda import cudart
        except ImportError as exc:
            raise DependencyError("TensorRT engines need cuda-python for GPU memory (pip install cuda-python); "
                                  "or use the .onnx model with ONNX Runtime") from exc
    return cudart


def gpu_identity() -> tuple[str, str]:
    """(GPU name, compute capability 'major.minor') of device 0, through cuda-python; DependencyError
    when no CUDA device is visible."""
    cudart = cuda_runtime()
    err, prop = cudart.cudaGetDeviceProperties(0)
    if int(err) != 0:
        raise DependencyError(f"no CUDA device visible (cudaGetDeviceProperties: {err})")
    name = prop.name.decode(errors="replace").rstrip("\x00") if isinstance(prop.name, bytes) else str(prop.name)
    return name, f"{prop.major}.{prop.minor}"


def _check(result, what: str):
    """cuda-python calls return (error, *values); raise on a non-zero error."""
    err, *values = result if isinstance(result, tuple) else (result,)
    if int(err) != 0:
        raise DependencyError(f"CUDA {what} failed ({err})")
    return values[0] if len(values) == 1 else values


class TensorRTEncoder(MotionEncoder):
    name = "tensorrt"

    def __init__(self, path, device: str = "cuda", threads: int = 0) -> None:
        super().__init__(path, device, threads)
        if device.lower() == "cpu":
            raise ConfigError(f"{self.path}: TensorRT engines run on an NVIDIA GPU only; use --device auto/cuda, "
                              "or the .onnx model for the CPU")
        side = read_sidecar(self.path)                       # validated before any GPU library is touched
        trt = import_tensorrt(f"{self.path.name}")
        self._cudart = cuda_runtime()
        if side["tensorrt_version"] != trt.__version__:
            raise DataError(f"{self.path}: built with TensorRT {side['tensorrt_version']}, this is TensorRT "
                            f"{trt.__version__}; rebuild it here with 'infomotion-rt build-engine'")
        gpu, cc = gpu_identity()
        if side["compute_capability"] != cc:
            raise DataError(f"{self.path}: built for {side['gpu']} (compute {side['compute_capability']}), this "
                            f"GPU is {gpu} (compute {cc}); rebuild it here with 'infomotion-rt build-engine'")
        self.sidecar = side
        self.metadata = side["metadata"]                     # the ONNX metadata copy (vector, feature_layout)
        self.image_size, self.feature_dim = int(side["image_size"]), int(side["feature_dim"])
        self.config = json.loads(side["metadata"]["config"])
        self.input_name, self.output_name = side["input_name"], side["output_name"]
        self.max_batch = int(side["max_batch"])
        self._logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._logger)
        self.engine = self._runtime.deserialize_cuda_engine(self.path.read_bytes())
        if self.engine is None:
            raise DataError(f"{self.path}: TensorRT could not deserialise the plan (built for another GPU or "
                            "TensorRT version?); rebuild it with 'infomotion-rt build-engine'")
        names = {self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)}
        if names != {self.input_name, self.output_name}:
            raise DataError(f"{self.path}: engine tensors {sorted(names)} do not match the sidecar")
        self.context = self.engine.create_execution_context()
        self._stream = _check(self._cudart.cudaStreamCreate(), "stream creation")
        self._buffers: dict[str, tuple[int, int]] = {}      # name -> (device pointer, bytes)
        self.runtime = f"TensorRT {trt.__version__} on {gpu}, {side['precision']}"

    def _device_buffer(self, name: str, nbytes: int) -> int:
        ptr, size = self._buffers.get(name, (0, 0))
        if size < nbytes:
            if ptr:
                _check(self._cudart.cudaFree(ptr), "free")
            ptr = int(_check(self._cudart.cudaMalloc(nbytes), "malloc"))
            self._buffers[name] = (ptr, nbytes)
        return ptr

    def _run_chunk(self, frames: np.ndarray) -> np.ndarray:
        cudart = self._cudart
        b = frames.shape[0]
        out = np.empty((b, self.feature_dim), np.float32)
        d_in = self._device_buffer(self.input_name, frames.nbytes)
        d_out = self._device_buffer(self.output_name, out.nbytes)
        self.context.set_input_shape(self.input_name, tuple(frames.shape))
        self.context.set_tensor_address(self.input_name, d_in)
        self.context.set_tensor_address(self.output_name, d_out)
        h2d, d2h = cudart.cudaMemcpyKind.cudaMemcpyHostToDevice, cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost
        _check(cudart.cudaMemcpyAsync(d_in, frames.ctypes.data, frames.nbytes, h2d, self._stream), "copy in")
        if not self.context.execute_async_v3(int(self._stream)):
            raise DataError(f"{self.path}: TensorRT execution failed for a batch of {b}")
        _check(cudart.cudaMemcpyAsync(out.ctypes.data, d_out, out.nbytes, d2h, self._stream), "copy out")
        _check(cudart.cudaStreamSynchronize(self._stream), "synchronise")
        return out

    def _run(self, frames: np.ndarray) -> np.ndarray:
        # the optimisation profile caps the batch: larger batches run in chunks
        chunks = [self._run_chunk(np.ascontiguousarray(frames[s:s + self.max_batch]))
                  for s in range(0, len(frames), self.max_batch)]
        return np.concatenate(chunks) if chunks else np.zeros((0, self.feature_dim), np.float32)

    def __del__(self):
        for ptr, _ in getattr(self, "_buffers", {}).values():
            try:
                self._cudart.cudaFree(ptr)
            except Exception:
                pass
