
EG_x
rtmp://a/bsrt://c:9000rtmp://old/key