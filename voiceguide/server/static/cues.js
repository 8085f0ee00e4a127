// The felt and seen breathing cues (filled in by a later change).
