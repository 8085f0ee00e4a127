"""Live playback: a session heard through a sound device while it is steered by keys.

``edits`` changes a planned ``Timeline`` while it plays (pure, in samples);
``opening`` prepares the first part of a session quickly and the rest behind
it; ``player`` pulls PCM from the timeline on a background thread into a
device (``device`` is the only module that knows miniaudio); ``keys`` reads
single keys from a terminal; ``status`` draws the line a watcher sees;
``session`` wires them together for ``voiceguide play``.
"""
