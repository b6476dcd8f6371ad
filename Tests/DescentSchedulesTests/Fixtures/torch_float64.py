"""Float64 reference values for the torch-style tests (TorchFloat64Tests.swift, CyclicTests.swift).

torch is not installed on the machines this was written on, so this script evaluates the formulas
torch documents and uses in torch/optim/lr_scheduler.py, written out here in plain Python floats
(IEEE float64, the C library's pow and cos, as torch's scheduler code uses them):

- StepLR closed form:            base_lr * gamma ** (t // step_size)
- ExponentialLR closed form:     base_lr * gamma ** t
- CosineAnnealingLR closed form: eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2
- CyclicLR.get_lr:               cycle = floor(1 + t / total); x = 1 + t / total - cycle;
                                 scale = x / r if x <= r else (x - 1) / (r - 1)
                                 lr = base + (max - base) * scale * f, f = 1, 1 / 2 ** (cycle - 1), gamma ** t

Run: python3 torch_float64.py   (prints repr() of each value: the shortest text that reads back exactly)
"""
import math


def step_lr(base, gamma, step_size, t):
    return base * gamma ** (t // step_size)


def exponential_lr(base, gamma, t):
    return base * gamma ** t


def cosine_annealing(base, eta_min, t_max, t):
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * t / t_max)) / 2


def cyclic(base, top, up, down, mode, gamma, t):
    total = float(up) + float(down)
    ratio = float(up) / total
    cycle = math.floor(1 + t / total)
    x = 1.0 + t / total - cycle
    scale = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
    height = (top - base) * scale
    if mode == "triangular":
        return base + height * 1.0
    if mode == "triangular2":
        return base + height * (1 / (2.0 ** (cycle - 1)))
    return base + height * gamma ** t


cases = {
    "exponential_lr(0.1, 0.999999, t)": [(t, exponential_lr(0.1, 0.999999, t)) for t in [1, 1_000_000, 2_500_001, 10_000_000]],
    "step_lr(0.05, 0.999, 1000, t)": [(t, step_lr(0.05, 0.999, 1000, t)) for t in [999, 1000, 1_234_567, 5_000_000]],
    "cosine_annealing(0.1, 0.001, 3_000_000, t)": [(t, cosine_annealing(0.1, 0.001, 3_000_000, t)) for t in [1, 1_234_567, 2_999_999, 4_567_891]],
    "cyclic(0.001, 0.006, 1000, 3000, triangular, 1, t)": [(t, cyclic(0.001, 0.006, 1000, 3000, "triangular", 1.0, t)) for t in [1, 777, 1_000_500, 1_002_345]],
    "cyclic(0.001, 0.006, 1000, 3000, triangular2, 1, t)": [(t, cyclic(0.001, 0.006, 1000, 3000, "triangular2", 1.0, t)) for t in [4_500, 8_777, 1_000_500]],
    "cyclic(0.001, 0.006, 1000, 3000, exp_range, 0.999999, t)": [(t, cyclic(0.001, 0.006, 1000, 3000, "exp_range", 0.999999, t)) for t in [777, 1_000_500, 1_002_345]],
    # A product of torch's closed forms (what ChainedScheduler reaches through its recursive forms).
    "cosine_annealing(0.1, 0, 2_000_000, t) * exponential_lr(1, 0.9999999, t)": [
        (t, cosine_annealing(0.1, 0.0, 2_000_000, t) * exponential_lr(1.0, 0.9999999, t)) for t in [1_000_000, 1_500_001]],
    # SequentialLR / join_schedules: schedule 1 restarts at 0 on milestone 1_000_000.
    "sequence[constant 0.01, exponential_lr(0.1, 0.99)] milestones [1_000_000]": [
        (t, 0.01 if t < 1_000_000 else exponential_lr(0.1, 0.99, t - 1_000_000)) for t in [999_999, 1_000_000, 1_000_010]],
}

for name, values in cases.items():
    print(name)
    for t, v in values:
        print(f"  ({t}, {v!r}),   float32 {float.__repr__(__import__('struct').unpack('f', __import__('struct').pack('f', v))[0])}")
