"""Reference rates from Keras 3 and optax, for DescentSchedulesTests/LibraryFixtureTests.swift.

Each case pairs a Descent `schedule:` section (as JSON) with the rates the reference library gives
at a few steps around every switch, restart and end. Regenerate with:

    python3 -m venv /tmp/schedvenv && /tmp/schedvenv/bin/pip install keras numpy scipy jax optax
    KERAS_BACKEND=numpy /tmp/schedvenv/bin/python generate.py > reference_rates.json

Rates are the libraries' float32 results widened to float64.
"""
import json
import os

os.environ.setdefault("KERAS_BACKEND", "numpy")

import jax
import keras
import numpy as np
import optax

S = keras.optimizers.schedules
cases = []


def keras_case(name, schedule, descent, steps):
    rates = [float(np.float32(schedule(step))) for step in steps]
    cases.append({"name": name, "library": "keras", "schedule": descent, "steps": steps, "rates": rates})


def optax_case(name, schedule, descent, steps):
    rates = [float(np.float32(schedule(np.int32(step)))) for step in steps]
    cases.append({"name": name, "library": "optax", "schedule": descent, "steps": steps, "rates": rates})


keras_case("exponential staircase (the reference program)",
           S.ExponentialDecay(0.1, 1000, 0.96, staircase=True),
           {"type": "exponential", "initial_rate": 0.1, "decay_steps": 1000, "decay_rate": 0.96, "staircase": True},
           [0, 1, 999, 1000, 1001, 1999, 2000, 28124, 28125, 1000000])
keras_case("exponential continuous",
           S.ExponentialDecay(0.1, 1000, 0.96),
           {"type": "exponential", "initial_rate": 0.1, "decay_steps": 1000, "decay_rate": 0.96},
           [0, 1, 500, 999, 1000, 1001, 28125, 1000000])
keras_case("inverse time continuous",
           S.InverseTimeDecay(0.1, 1000, 0.5),
           {"type": "inverse_time", "initial_rate": 0.1, "decay_steps": 1000, "decay_rate": 0.5},
           [0, 1, 999, 1000, 1001, 5000, 1000000])
keras_case("inverse time staircase",
           S.InverseTimeDecay(0.1, 1000, 0.5, staircase=True),
           {"type": "inverse_time", "initial_rate": 0.1, "decay_steps": 1000, "decay_rate": 0.5, "staircase": True},
           [0, 999, 1000, 1001, 1999, 2000, 1000000])
keras_case("inverse time basic form lr0 / (1 + alpha t)",
           S.InverseTimeDecay(0.1, 1, 0.01),
           {"type": "inverse_time", "initial_rate": 0.1, "decay_steps": 1, "decay_rate": 0.01},
           [0, 1, 2, 100, 12345])
keras_case("polynomial linear, default end rate",
           S.PolynomialDecay(0.1, 1000),
           {"type": "polynomial", "initial_rate": 0.1, "decay_steps": 1000},
           [0, 1, 500, 999, 1000, 1001, 100000])
keras_case("polynomial power 2",
           S.PolynomialDecay(0.1, 1000, end_learning_rate=0.001, power=2.0),
           {"type": "polynomial", "initial_rate": 0.1, "decay_steps": 1000, "end_rate": 0.001, "power": 2.0},
           [0, 1, 250, 999, 1000, 1001])
keras_case("polynomial cycle",
           S.PolynomialDecay(0.1, 1000, end_learning_rate=0.001, power=0.5, cycle=True),
           {"type": "polynomial", "initial_rate": 0.1, "decay_steps": 1000, "end_rate": 0.001, "power": 0.5, "cycle": True},
           [0, 1, 999, 1000, 1001, 1999, 2000, 2001, 5500])
keras_case("piecewise constant, keras boundaries",
           S.PiecewiseConstantDecay([1000, 2000], [0.1, 0.01, 0.001]),
           {"type": "piecewise_constant", "boundaries": [1000, 2000], "values": [0.1, 0.01, 0.001]},
           [0, 999, 1000, 1001, 1999, 2000, 2001, 1000000])
keras_case("cosine with alpha",
           S.CosineDecay(0.1, 1000, alpha=0.1),
           {"type": "cosine", "initial_rate": 0.1, "decay_steps": 1000, "alpha": 0.1},
           [0, 1, 250, 500, 999, 1000, 1001, 5000])
keras_case("cosine with warmup (decay_steps excludes warmup)",
           S.CosineDecay(0.0, 1000, alpha=0.0, warmup_target=0.1, warmup_steps=100),
           {"type": "cosine", "initial_rate": 0.0, "decay_steps": 1000, "warmup_steps": 100, "warmup_target": 0.1},
           [0, 1, 50, 99, 100, 101, 600, 1099, 1100, 1101, 5000])
keras_case("cosine restarts, t_mul 2, m_mul 0.5, alpha 0.1",
           S.CosineDecayRestarts(0.1, 100, t_mul=2.0, m_mul=0.5, alpha=0.1),
           {"type": "cosine_restarts", "initial_rate": 0.1, "first_decay_steps": 100, "t_mul": 2.0, "m_mul": 0.5, "alpha": 0.1},
           [0, 1, 50, 99, 100, 101, 299, 301, 699, 701, 1000, 1499, 1501])
keras_case("cosine restarts, t_mul 1",
           S.CosineDecayRestarts(0.1, 100, t_mul=1.0, m_mul=0.9),
           {"type": "cosine_restarts", "initial_rate": 0.1, "first_decay_steps": 100, "t_mul": 1.0, "m_mul": 0.9},
           [0, 50, 99, 100, 101, 199, 200, 201, 1050])
keras_case("cosine restarts, t_mul 1.5",
           S.CosineDecayRestarts(0.1, 100, t_mul=1.5, m_mul=1.0, alpha=0.05),
           {"type": "cosine_restarts", "initial_rate": 0.1, "first_decay_steps": 100, "t_mul": 1.5, "m_mul": 1.0, "alpha": 0.05},
           [0, 99, 101, 200, 249, 251, 400, 474, 476, 1000])

optax_case("piecewise constant, optax boundaries",
           optax.piecewise_constant_schedule(0.1, {1000: 0.1, 2000: 0.1}),
           {"type": "piecewise_constant", "boundaries": [1000, 2000], "values": [0.1, 0.01, 0.001], "style": "optax"},
           [0, 999, 1000, 1001, 1999, 2000, 2001, 1000000])
optax_case("warmup cosine (decay_steps includes warmup)",
           optax.warmup_cosine_decay_schedule(init_value=0.0, peak_value=0.1, warmup_steps=100, decay_steps=1100, end_value=0.01),
           {"type": "cosine", "style": "optax", "initial_rate": 0.0, "warmup_target": 0.1, "warmup_steps": 100,
            "decay_steps": 1100, "alpha": 0.1},
           [0, 1, 50, 99, 100, 101, 600, 1099, 1100, 1101, 5000])
optax_case("linear warmup joined to exponential decay",
           optax.join_schedules([optax.linear_schedule(0.0, 0.1, 100),
                                 optax.exponential_decay(0.1, 1000, 0.96, staircase=True)], [100]),
           {"type": "exponential", "initial_rate": 0.1, "decay_steps": 1000, "decay_rate": 0.96, "staircase": True,
            "warmup": {"steps": 100, "start_rate": 0.0}},
           [0, 1, 50, 99, 100, 101, 1099, 1100, 1101, 28225])

print(json.dumps({
    "generated_by": "Tests/DescentSchedulesTests/Fixtures/generate.py",
    "versions": {"keras": keras.__version__, "keras_backend": keras.backend.backend(), "optax": optax.__version__,
                 "jax": jax.__version__, "numpy": np.__version__},
    "cases": cases,
}, indent=1))
