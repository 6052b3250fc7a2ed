"""TxSim from Python: analog PyTorch layers on the C++ crossbar core.

    import txsim
    preset = txsim.load_preset("workloads/devices/txsim_reram.json")   # or a dict
    layer = txsim.AnalogLinear(784, 100, preset, seed=1)

The layer's forward is the core's crossbar read (every non-ideality of the preset), its input
gradient the transposed read, and its weights the devices': `AnalogSGD` programs them through
the preset's update model. Config errors are ValueError with the C++ message.
"""
from ._core import AnalogCore, ConfigError, DevicePreset, set_threads, threads  # noqa: F401
from ._core import ActivityRecord, load_record  # noqa: F401
from .activity import ActivityRecorder, TimedRun, time  # noqa: F401
from .background import background_builds, set_background_builds  # noqa: F401
from .analog import AnalogConv2d, AnalogLinear, AnalogSGD, convert_to_analog, load_preset  # noqa: F401
