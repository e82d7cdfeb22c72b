"""Training speed on a CUDA GPU against the CPU: prints figures, asserts nothing.

    .venv/bin/python benchmarks/gpu_check.py [--seconds 30]

Trains the default model (128 x 3, batch 256) on a 1,000-point moons set with the core
Trainer, until stopped, for --seconds on CUDA, and for a few seconds on the CPU (one
torch thread, as the app trains), then the same at batch 4096, where a GPU is expected to
pull ahead. Without CUDA it says so and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
import time


def rate(points, *, device: str, batch: int, seconds: float) -> float:
    """Steps/s of Trainer.run() after a warm-up (CUDA start-up and kernel caches)."""
    import torch

    from flowviz.core import training

    config = training.TrainConfig(steps=None, device=device, batch_size=batch)
    trainer = training.Trainer(data=points, config=config)
    it = trainer.run()
    for _ in range(5):
        next(it)
    if device == "cuda":
        torch.cuda.synchronize()
    t0, s0 = time.perf_counter(), trainer.step_count
    while time.perf_counter() - t0 < seconds:
        next(it)  # a report reads the loss back, so the queue cannot run ahead
    if device == "cuda":
        torch.cuda.synchronize()
    return (trainer.step_count - s0) / (time.perf_counter() - t0)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30.0, help="CUDA seconds per batch")
    args = parser.parse_args()
    import torch

    if not torch.cuda.is_available():
        print(
            "gpu_check: no CUDA GPU is available here (torch "
            f"{torch.__version__}, CUDA build: {torch.version.cuda or 'none'}); "
            "run this on a machine with one.",
            file=sys.stderr,
        )
        return 2
    from flowviz.core import data

    torch.set_num_threads(1)
    points = data.preset("moons", 1000, seed=0)
    print(f"GPU: {torch.cuda.get_device_name(0)}; torch {torch.__version__}")
    print(f"{'batch':>6}{'CUDA steps/s':>14}{'CPU steps/s':>14}{'CUDA / CPU':>12}")
    for batch in (256, 4096):
        cuda = rate(points, device="cuda", batch=batch, seconds=args.seconds)
        cpu = rate(points, device="cpu", batch=batch, seconds=min(5.0, args.seconds))
        print(f"{batch:6d}{cuda:14.0f}{cpu:14.0f}{cuda / cpu:11.2f}x", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
