"""What every area of the web app shares: security, errors, i18n, navigation, OpenAPI, form rendering."""
