
livekit.Egress