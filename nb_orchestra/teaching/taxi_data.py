"""A deterministic month of NYC taxi trips with the real TLC column layout.

The files look like the course's release files
(``https://github.com/DataTalksClub/nyc-tlc-data/releases``): gzipped CSV,
a header line, the yellow or green column list of the 2019-2021 files, and
values that add up as in real trips (``total_amount`` is the sum of its
parts). A few rows appear twice, as in the real data. The same arguments
always give byte-identical files.
"""

from __future__ import annotations

import calendar
import csv
import gzip
import io
import random
from datetime import datetime, timedelta
from pathlib import Path

YELLOW_COLUMNS = [
    "VendorID", "tpep_pickup_datetime", "tpep_dropoff_datetime", "passenger_count", "trip_distance",
    "RatecodeID", "store_and_fwd_flag", "PULocationID", "DOLocationID", "payment_type", "fare_amount",
    "extra", "mta_tax", "tip_amount", "tolls_amount", "improvement_surcharge", "total_amount",
    "congestion_surcharge",
]
GREEN_COLUMNS = [
    "VendorID", "lpep_pickup_datetime", "lpep_dropoff_datetime", "store_and_fwd_flag", "RatecodeID",
    "PULocationID", "DOLocationID", "passenger_count", "trip_distance", "fare_amount", "extra", "mta_tax",
    "tip_amount", "tolls_amount", "ehail_fee", "improvement_surcharge", "total_amount", "payment_type",
    "trip_type", "congestion_surcharge",
]
COLUMNS = {"yellow": YELLOW_COLUMNS, "green": GREEN_COLUMNS}

# Busy pickup zones: Manhattan for yellow cabs, the outer boroughs for green ones.
_ZONES = {
    "yellow": [48, 68, 79, 90, 100, 107, 132, 138, 142, 161, 162, 163, 170, 186, 230, 234, 236, 237, 239],
    "green": [7, 41, 42, 65, 74, 75, 82, 95, 97, 129, 166, 181, 244, 255, 260],
}
_CONGESTION_START = (2019, 2)  # New York's congestion surcharge began in February 2019


def file_name(taxi: str, year: int, month: int) -> str:
    """``yellow_tripdata_2019-01.csv.gz``: the release file's name."""
    return f"{taxi}_tripdata_{year:04d}-{month:02d}.csv.gz"


def write_month(folder: str | Path, taxi: str, year: int, month: int, rows: int = 400) -> Path:
    """Write ``<folder>/<taxi>_tripdata_<yyyy>-<mm>.csv.gz`` with ``rows`` trips (duplicates included)."""
    if taxi not in COLUMNS:
        raise ValueError(f"taxi must be 'yellow' or 'green', not {taxi!r}")
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1..12, not {month}")
    rng = random.Random(f"{taxi}-{year:04d}-{month:02d}")
    trips = [_trip(rng, taxi, year, month) for _ in range(rows - rows // 50)]
    for _ in range(rows - len(trips)):  # about 2% exact duplicates, somewhere in the file
        trips.insert(rng.randrange(len(trips) + 1), rng.choice(trips))
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMNS[taxi])
    writer.writerows([trip[column] for column in COLUMNS[taxi]] for trip in trips)
    path = Path(folder) / file_name(taxi, year, month)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as out:
        out.write(text.getvalue().encode())
    return path


def _trip(rng: random.Random, taxi: str, year: int, month: int) -> dict[str, str]:
    """One trip whose money columns add up; keys are both layouts' column names."""
    days = calendar.monthrange(year, month)[1]
    pickup = datetime(year, month, 1) + timedelta(seconds=rng.randrange(days * 86400))
    airport = rng.random() < 0.03
    minutes = rng.uniform(25, 60) if airport else rng.triangular(2, 45, 9)
    distance = rng.uniform(15, 22) if airport else max(0.1, minutes * rng.uniform(0.12, 0.3))
    fare = 52.0 if airport else round(2.5 + 2.5 * distance + 0.2 * minutes, 1)
    night = pickup.hour >= 20 or pickup.hour < 6
    extra = 0.5 if night else rng.choice([0.0, 0.0, 1.0])
    payment = rng.choices([1, 2, 3, 4], weights=[70, 27, 2, 1])[0]
    tip = round(fare * rng.uniform(0.1, 0.25), 2) if payment == 1 else 0.0
    tolls = 5.76 if airport and rng.random() < 0.5 else 0.0
    congestion: float | None = (2.5 if taxi == "yellow" else 2.75) if rng.random() < 0.8 else 0.0
    if (year, month) < _CONGESTION_START:
        congestion = None
    total = fare + extra + 0.5 + tip + tolls + 0.3 + (congestion or 0.0)
    prefix = "tpep" if taxi == "yellow" else "lpep"
    return {
        "VendorID": str(rng.choice([1, 2])),
        f"{prefix}_pickup_datetime": f"{pickup:%Y-%m-%d %H:%M:%S}",
        f"{prefix}_dropoff_datetime": f"{pickup + timedelta(minutes=minutes):%Y-%m-%d %H:%M:%S}",
        "passenger_count": str(rng.choices([1, 2, 3, 4, 5, 6], weights=[70, 15, 5, 3, 4, 3])[0]),
        "trip_distance": f"{distance:.2f}",
        "RatecodeID": "2" if airport else "1",
        "store_and_fwd_flag": "Y" if rng.random() < 0.01 else "N",
        "PULocationID": str(132 if airport else rng.choice(_ZONES[taxi])),
        "DOLocationID": str(rng.choice(_ZONES[taxi]) if rng.random() < 0.7 else rng.randrange(1, 264)),
        "payment_type": str(payment),
        "fare_amount": f"{fare:.2f}",
        "extra": f"{extra:.2f}",
        "mta_tax": "0.50",
        "tip_amount": f"{tip:.2f}",
        "tolls_amount": f"{tolls:.2f}",
        "ehail_fee": "",
        "improvement_surcharge": "0.30",
        "total_amount": f"{total:.2f}",
        "trip_type": "2" if rng.random() < 0.03 else "1",
        "congestion_surcharge": "" if congestion is None else f"{congestion:.2f}",
    }
