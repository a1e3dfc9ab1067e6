
r:	
x.mp4