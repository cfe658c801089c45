// exchange-rates-api ships no types; the test describes the part of its client it uses (ExchangeRatesClient).
declare module 'exchange-rates-api';
