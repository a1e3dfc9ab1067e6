
rTR_x"wss://example/ws