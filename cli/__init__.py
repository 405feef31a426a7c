"""The `ddpg-robot` command line (installed as `ddpg_robot.cli`): parse, call the library, print."""
