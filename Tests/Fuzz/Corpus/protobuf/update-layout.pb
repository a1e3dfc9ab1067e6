
EG_xgrid