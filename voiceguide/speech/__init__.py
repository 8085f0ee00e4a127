"""Speech engines and the clips they produce.

Only the light modules are imported here; engines and the resampling code load
on first use so that ``voiceguide --help`` stays fast.
"""

from voiceguide.speech.base import Engine, EngineInfo, VoiceInfo
from voiceguide.speech.registry import ENGINE_NAMES, get_engine, list_engines

__all__ = ["ENGINE_NAMES", "Engine", "EngineInfo", "VoiceInfo", "get_engine", "list_engines"]
