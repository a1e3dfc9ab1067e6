
my-room