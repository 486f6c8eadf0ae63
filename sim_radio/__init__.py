"""The simulated radio mesh, virtual devices, adversaries and scenarios."""
