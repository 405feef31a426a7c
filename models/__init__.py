"""Shipped ONNX policies (installed as `ddpg_robot.models`); see README.md beside this file.

`Controller("halfcheetah-v4")` opens `halfcheetah-v4.onnx` from here by name.
"""
