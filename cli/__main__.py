"""`python -m ddpg_robot.cli ...`: the same command as the `ddpg-robot` console script."""

from ddpg_robot.cli.app import main

if __name__ == "__main__":
    main()
