"""Starter kit for "SmartPort: vessel berthing delay": trains on train.csv, writes submission.csv ready to upload.

    python starter.py      # with train.csv and test.csv (download them from the challenge page) beside it
    riality submit smartport-vessel-delay submission.csv     # or upload it on the challenge's team page

Scored by rmse. Change the model, the features, anything: the format of submission.csv is what counts.
"""

import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor

train = pd.read_csv("train.csv", dtype={"id": str})
test = pd.read_csv("test.csv", dtype={"id": str})
features = [c for c in train.columns if c not in ("id", "delay_minutes")]
model = HistGradientBoostingRegressor(random_state=0).fit(train[features], train["delay_minutes"])
predicted = model.predict(test[features])
pd.DataFrame({"id": test["id"], "delay_minutes": predicted}).to_csv("submission.csv", index=False)
print(f"wrote submission.csv: {len(test)} rows")
