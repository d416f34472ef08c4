module.exports = require('../jest.base.js')(__dirname, 'e2e');
