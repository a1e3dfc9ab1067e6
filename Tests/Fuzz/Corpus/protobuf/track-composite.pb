
my-roomTR_aaaaTR_bbbb0Zcomposite.mp4brtmp://example/live/key