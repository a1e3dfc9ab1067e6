
my-roomaliceTR_a 