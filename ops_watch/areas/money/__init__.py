"""Money and score (经费与考核): the unit prices ([platforms], pricing.py), billing reconciliation (billing/),
budget execution (budget/), the contractor score (score/) and the report section."""
