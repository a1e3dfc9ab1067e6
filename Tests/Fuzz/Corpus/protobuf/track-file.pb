
my-roomTR_aaaa
{track_id}.ogg(