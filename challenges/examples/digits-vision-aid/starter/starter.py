"""Starter kit for "Digit recognition for vision aids": trains on train.csv, writes submission.csv ready to upload.

    python starter.py      # with train.csv and test.csv (download them from the challenge page) beside it
    riality submit digits-vision-aid submission.csv     # or upload it on the challenge's team page

Scored by accuracy. Change the model, the features, anything: the format of submission.csv is what counts.
"""

import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

train = pd.read_csv("train.csv", dtype={"id": str})
test = pd.read_csv("test.csv", dtype={"id": str})
features = [c for c in train.columns if c not in ("id", "digit")]
model = HistGradientBoostingClassifier(random_state=0).fit(train[features], train["digit"])
predicted = model.predict(test[features])
pd.DataFrame({"id": test["id"], "digit": predicted}).to_csv("submission.csv", index=False)
print(f"wrote submission.csv: {len(test)} rows")
