"""Volunteering and the time bank: activities, attendance, service records and their crediting under a versioned
earning policy; gifts, donations and grants of time coins; statements, certificates and exports."""
