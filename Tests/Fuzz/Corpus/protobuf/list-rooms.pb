
a
b