
my-roomalice