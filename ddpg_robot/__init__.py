"""ddpg-robot: DDPG for MuJoCo robots, shipped as ONNX controllers.

This file stays light on purpose: `ddpg_robot.runtime` must import with numpy and
onnxruntime alone, so nothing here may pull in torch, gymnasium or mujoco.
"""

__version__ = "0.1.0"
