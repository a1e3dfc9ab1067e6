
my-room