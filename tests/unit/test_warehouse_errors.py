"""A warehouse that cannot be reached says which server and how to configure it."""

from __future__ import annotations

import pandas as pd
import pytest

from hashiramart_assets.warehouse.load import WarehouseUnreachable, replace_table
from tests.support import free_loopback_port


def test_unreachable_postgres_names_the_server_and_the_fix():
    port = free_loopback_port()  # released again: nothing listens there
    url = f"postgresql+psycopg2://shop@127.0.0.1:{port}/warehouse"
    with pytest.raises(WarehouseUnreachable) as error:
        replace_table(url, "raw", "customers", pd.DataFrame({"customer_id": [1]}))
    message = str(error.value)
    assert f"127.0.0.1:{port}/warehouse" in message and "'shop'" in message
    assert "HASHIRAMART_POSTGRES_URL" in message and "hashiramart services start" in message
