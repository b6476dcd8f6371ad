"""Reference rates from optax for sequence (join_schedules) and exponential end_value, for
DescentSchedulesTests/LibraryFixtureTests.swift (optax_compositions.json). Regenerate with:

    python3 -m venv /tmp/schedvenv && /tmp/schedvenv/bin/pip install jax optax numpy
    /tmp/schedvenv/bin/python generate_optax_compositions.py > optax_compositions.json

Rates are optax's float32 results widened to float64; steps are passed as int32, as optax counts.
"""
import json

import jax
import numpy as np
import optax

cases = []


def optax_case(name, schedule, descent, steps):
    rates = [float(np.float32(schedule(np.int32(step)))) for step in steps]
    cases.append({"name": name, "library": "optax", "schedule": descent, "steps": steps, "rates": rates})


optax_case("exponential decay with end_value",
           optax.exponential_decay(0.1, 100, 0.5, end_value=0.01),
           {"type": "exponential", "initial_rate": 0.1, "decay_steps": 100, "decay_rate": 0.5, "end_rate": 0.01},
           [0, 1, 100, 250, 300, 332, 333, 400, 1000, 1000000])
optax_case("exponential staircase with end_value",
           optax.exponential_decay(0.2, 1000, 0.7, staircase=True, end_value=0.05),
           {"type": "exponential", "initial_rate": 0.2, "decay_steps": 1000, "decay_rate": 0.7, "staircase": True, "end_rate": 0.05},
           [0, 999, 1000, 2999, 3000, 3999, 4000, 5000, 2000000])
optax_case("join_schedules: constant, then exponential restarting at its boundary",
           optax.join_schedules([optax.constant_schedule(0.01), optax.exponential_decay(0.1, 10, 0.5)], [30]),
           {"type": "sequence", "milestones": [30], "schedules": [
               {"type": "constant", "rate": 0.01},
               {"type": "exponential", "initial_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5}]},
           [0, 29, 30, 31, 40, 45, 100])
optax_case("join_schedules: linear decay, cosine decay, constant",
           optax.join_schedules([optax.polynomial_schedule(0.1, 0.001, 1, 100),
                                 optax.cosine_decay_schedule(0.1, 900, alpha=0.1),
                                 optax.constant_schedule(0.005)], [100, 1000]),
           {"type": "sequence", "milestones": [100, 1000], "schedules": [
               {"type": "polynomial", "initial_rate": 0.1, "decay_steps": 100, "end_rate": 0.001, "power": 1},
               {"type": "cosine", "initial_rate": 0.1, "decay_steps": 900, "alpha": 0.1},
               {"type": "constant", "rate": 0.005}]},
           [0, 50, 99, 100, 101, 550, 999, 1000, 1001, 5000])

print(json.dumps({"versions": {"optax": optax.__version__, "jax": jax.__version__, "numpy": np.__version__},
                  "cases": cases}, indent=1))
