
rspeaker@rÀğ"img(0