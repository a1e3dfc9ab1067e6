
my-room