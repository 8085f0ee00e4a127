"""voiceguide: exercise scripts become exactly timed, spoken audio sessions."""

__version__ = "0.1.0"
