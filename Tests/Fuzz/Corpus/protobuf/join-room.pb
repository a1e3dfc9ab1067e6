
my-roomaliceAlice