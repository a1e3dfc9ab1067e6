
https://example.com/Jweb.ogg