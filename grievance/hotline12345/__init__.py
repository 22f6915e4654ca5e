"""12345 work orders: orders pushed by the city's 12345 platform come in through intake; our actions go back."""
