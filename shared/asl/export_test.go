package asl

// SetTimeScale multiplies every duration a definition specifies (Wait
// seconds, retry intervals, timeouts, heartbeats) by scale, so tests of
// second-granular behaviour finish in milliseconds.
func SetTimeScale(r *Runtime, scale float64) { r.scale = scale }
