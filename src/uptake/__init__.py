"""uptake: measure, compare and accelerate the uptake of NICE-approved medicines in England."""

__version__ = "0.1.0"
