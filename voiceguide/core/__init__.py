"""The pure core: script text to session, plan, cues, mastering and render.

Nothing in here opens a file, a device or a socket, reads the clock or the
environment: what comes in is text and numbers, what goes out is data and
PCM. Everything that touches the world sits outside, and reaches this
package only through ``voiceguide.pipeline``.
"""
