"""What the import page tells administrators: the files, their columns and formats, and each error in words.

The domain (domain/imports) names errors by code with values; they are worded here, at display time, in the
reader's language, on the page and in the downloadable list alike.
"""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

KIND_TITLES = {
    "customers": _l("Customers and contacts"),
    "premises": _l("Premises and points of delivery"),
    "meters": _l("Meters and registers"),
    "contracts": _l("Contracts with offers"),
    "balances": _l("Opening balances"),
    "readings": _l("Reading history"),
}

KIND_ABOUT = {
    "customers": _l("One row per customer: the holder, how to reach them, and their customer account."),
    "premises": _l("One row per point of delivery; a premise with several activities has one row for each."),
    "meters": _l("One row per meter, with its registers and the point of delivery it is installed at."),
    "contracts": _l("One row per contract: which customer is supplied at which point of delivery, under which offer."),
    "balances": _l("One row per customer with what they owed (positive) or were owed (negative) when you changed "
                   "systems. Written once per account: importing it again never doubles it."),
    "readings": _l("One row per reading of a register. A reading is matched by its meter, register and date."),
}

STATUS_NAMES = {
    "checking": _l("Checking the files"),
    "invalid": _l("Errors found: nothing imported"),
    "importing": _l("Importing"),
    "completed": _l("Completed"),
    "failed": _l("Stopped on an error"),
}

FORMAT_NAMES = {
    "text": _l("Text"),
    "ref": _l("Reference: letters, digits and - _ . /"),
    "date": _l("Date, YYYY-MM-DD"),
    "decimal": _l("Number, dot or comma for decimals"),
    "money": _l("Amount, up to 2 decimals; negative for a credit"),
    "integer": _l("Whole number"),
    "bool": _l("yes or no"),
    "email": _l("E-mail address"),
    "country": _l("Country code, 2 letters (FR, DE…)"),
    "registers": _l("Register codes separated by spaces (TOTAL, PEAK OFFPEAK…)"),
}

# Meaning of a column, by name; (kind, name) for a column whose meaning depends on its file.
COLUMN_MEANINGS = {
    "customer_ref": _l("Your reference of the customer in your former system; rows are matched by it."),
    ("contracts", "customer_ref"): _l("The customer holding the contract (a customer_ref of the customers file, "
                                      "or one imported before)."),
    ("balances", "customer_ref"): _l("The customer whose account the balance goes to."),
    "kind": _l("person or organisation (default person)."),
    "title": _l("Title, such as Ms or Mr."),
    "first_name": _l("First name."),
    "last_name": _l("Last name (required for a person)."),
    "organisation_name": _l("Name of the organisation (required for an organisation)."),
    "email": _l("E-mail address, for bills and online access."),
    "phone": _l("Phone number."),
    "address_line1": _l("Postal address, first line."),
    "address_line2": _l("Postal address, second line."),
    "postcode": _l("Postcode."),
    "city": _l("City."),
    "country": _l("Country code (default FR)."),
    ("premises", "address_line1"): _l("Address of the premise, first line."),
    "account_number": _l("Customer number printed on bills (default: the customer_ref)."),
    "locale": _l("Language of the customer's bills and e-mails: en, fr, de or es."),
    "payment_method": _l("transfer, card or direct_debit (default transfer)."),
    "billing_cycle": _l("Billing cycle code (default A)."),
    "paperless": _l("Bills by e-mail only."),
    "opened_on": _l("Date the customer account was opened (default: the day of the import)."),
    "premise_ref": _l("Your reference of the premise; rows of one premise repeat it with the same address."),
    "pod_ref": _l("Your reference of the point of delivery; rows are matched by it."),
    ("meters", "pod_ref"): _l("The point of delivery the meter is installed at."),
    ("contracts", "pod_ref"): _l("The point of delivery supplied."),
    "activity": _l("water, gas, electricity or heating: one this utility supplies."),
    "pod_identifier": _l("Identifier of the point of delivery on the network (default: the pod_ref)."),
    "subscribed_power": _l("Subscribed power, kVA (electricity) or kW (heating)."),
    "meter_ref": _l("Your reference of the meter; rows are matched by it."),
    ("readings", "meter_ref"): _l("The meter read."),
    "serial_number": _l("Serial number on the meter (default: the meter_ref)."),
    "digits": _l("Number of digits of the index, 3 to 12 (default 6)."),
    "multiplier": _l("Multiplier applied to the index (default 1)."),
    "registers": _l("The meter's registers (default TOTAL)."),
    "is_smart": _l("A smart (remotely read) meter."),
    "model": _l("Model of the meter."),
    "installed_on": _l("Date the meter was installed at the point of delivery (required with a pod_ref)."),
    "contract_ref": _l("Your reference of the contract; rows are matched by it."),
    "offer_code": _l("Code of one of this utility's offers, for the activity of the point of delivery."),
    "start_date": _l("First day of supply."),
    "end_date": _l("Day the supply ended (empty: still supplied)."),
    "billing_frequency": _l("monthly, bimonthly, quarterly, biannual or annual: one the utility offers (default: "
                            "its default frequency, set in Billing and readings)."),
    "estimated_annual_consumption": _l("Expected consumption in a year, for estimates."),
    "billed_until": _l("Day after the last day your former system billed: billing goes on from there."),
    "contract_number": _l("Contract number shown to the customer (default: the contract_ref)."),
    "amount": _l("Balance: positive if the customer owes it, negative if it is owed to them."),
    "as_of": _l("Date of the balance."),
    "description": _l("Text of the ledger entry (default: Opening balance)."),
    "register": _l("Register read (default TOTAL)."),
    "read_on": _l("Date of the reading."),
    "value": _l("Index read on the register."),
    "source": _l("agent, customer, smart_meter or estimated (default agent)."),
}


def column_meaning(kind: str, name: str) -> str:
    return str(COLUMN_MEANINGS.get((kind, name)) or COLUMN_MEANINGS.get(name, ""))


def format_name(column) -> str:
    if column.fmt == "choice":
        return _("One of: %(values)s", values=", ".join(column.choices))
    text = str(FORMAT_NAMES[column.fmt])
    if column.max_length and column.fmt in ("text", "ref"):
        return _("%(format)s, up to %(max)s characters", format=text, max=column.max_length)
    return text


_ERRORS = {
    "required": lambda p: _("A value is required."),
    "too_long": lambda p: _("Too long: %(max)s characters at most.", max=p["max"]),
    "bad_ref": lambda p: _("Use letters, digits and - _ . / only."),
    "bad_date": lambda p: _("Enter a date as YYYY-MM-DD."),
    "bad_number": lambda p: _("Enter a number, such as 1234.5."),
    "negative": lambda p: _("The number cannot be negative."),
    "bad_amount": lambda p: _("Enter an amount with at most 2 decimals, such as -12.50."),
    "bad_integer": lambda p: _("Enter a whole number."),
    "bad_bool": lambda p: _("Enter yes or no."),
    "bad_choice": lambda p: _("Enter one of: %(choices)s.", choices=p["choices"]),
    "bad_email": lambda p: _("Enter an e-mail address, such as name@example.com."),
    "bad_country": lambda p: _("Enter a country code of 2 letters, such as FR."),
    "bad_registers": lambda p: _("Enter register codes separated by spaces, each once."),
    "duplicate_column": lambda p: _("This column appears twice."),
    "unknown_column": lambda p: _("This column is not part of the template."),
    "missing_column": lambda p: _("This required column is missing."),
    "duplicate": lambda p: _("Another row of the file has the same value."),
    "taken": lambda p: _("Already used by another record of this utility."),
    "required_long_ref": lambda p: _("Required: the reference is longer than %(max)s characters and cannot stand "
                                     "in for it.", max=p["max"]),
    "activity_not_supplied": lambda p: _("This utility does not supply this activity."),
    "premise_differs": lambda p: _("Another row gives this premise a different address."),
    "activity_twice": lambda p: _("This premise already has a point of delivery for this activity."),
    "bad_digits": lambda p: _("Enter a number of digits from %(low)s to %(high)s.", low=p["low"], high=p["high"]),
    "bad_multiplier": lambda p: _("The multiplier must be greater than zero."),
    "unknown_pod": lambda p: _("No point of delivery has this reference, in the files or already imported."),
    "activity_mismatch": lambda p: _("The point of delivery is for %(activity)s.", activity=p["expected"]),
    "pod_has_meter": lambda p: _("Another meter of the file is installed at this point of delivery."),
    "future_date": lambda p: _("The date is in the future."),
    "unknown_customer": lambda p: _("No customer has this reference, in the files or already imported."),
    "unknown_offer": lambda p: _("This utility has no active offer with this code."),
    "offer_activity": lambda p: _("The offer is not for %(activity)s, the activity of the point of delivery.",
                                  activity=p["activity"]),
    "frequency_not_offered": lambda p: _("The utility does not bill at this frequency (it offers: %(offered)s).",
                                         offered=p["offered"]),
    "end_before_start": lambda p: _("The end date must be after the start date."),
    "billed_until_range": lambda p: _("Must be between the start date and the end date."),
    "overlap": lambda p: _("Another contract of the file supplies this point of delivery at the same time."),
    "unknown_meter": lambda p: _("No meter has this reference, in the files or already imported."),
    "unknown_register": lambda p: _("The meter has no such register (it has: %(registers)s).",
                                    registers=p["registers"]),
    "too_many_digits": lambda p: _("The index has more digits than the meter (%(digits)s).", digits=p["digits"]),
    "duplicate_reading": lambda p: _("Another row reads this register on the same day."),
    "file_encoding": lambda p: _("The file is not in UTF-8: save it as CSV UTF-8, or as XLSX."),
    "file_empty": lambda p: _("The file is empty: the first row must name the columns."),
    "file_csv": lambda p: _("The CSV file cannot be read (a quote left open?)."),
    "file_xlsx": lambda p: _("The file is not an XLSX workbook."),
    "file_format": lambda p: _("Send a CSV or XLSX file."),
}


def error_message(code: str, params: dict | None = None) -> str:
    wording = _ERRORS.get(code)
    if wording is None:
        return code
    try:
        return wording(params or {})
    except KeyError:
        return code
